module github.com/partnerhub/partnerhub/services/subscriptions

go 1.26.0
