module github.com/partnerhub/partnerhub/services/catalog

go 1.26.0
