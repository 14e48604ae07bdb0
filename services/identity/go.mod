module github.com/partnerhub/partnerhub/services/identity

go 1.26.0
