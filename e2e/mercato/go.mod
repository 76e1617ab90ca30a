module github.com/orosync/orosync/e2e/mercato

go 1.26.0

require github.com/orosync/orosync/oro v0.0.0
