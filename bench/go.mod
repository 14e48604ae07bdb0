module github.com/partnerhub/partnerhub/bench

go 1.26.0
