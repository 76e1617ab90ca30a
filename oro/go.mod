module github.com/orosync/orosync/oro

go 1.26.0

require (
	golang.org/x/oauth2 v0.38.0
	gopkg.in/yaml.v3 v3.0.1
)
