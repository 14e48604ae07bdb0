module github.com/partnerhub/partnerhub/e2e

go 1.26.0
