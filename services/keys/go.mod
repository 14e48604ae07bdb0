module github.com/partnerhub/partnerhub/services/keys

go 1.26.0
