module github.com/partnerhub/partnerhub/services/orders

go 1.26.0
