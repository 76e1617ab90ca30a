module github.com/orosync/orosync/events

go 1.26

require (
	github.com/valyala/fastjson v1.6.10
	gopkg.in/yaml.v3 v3.0.1
)
