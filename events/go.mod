module github.com/orosync/orosync/events

go 1.26
