module github.com/partnerhub/partnerhub/services/delegatedadmin

go 1.26.0
