package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"

	transformer "github.com/orosync/orosync/services/transformer/service"
)

// cmdMap previews a mapping: a JSON:API document on stdin becomes the normalized changes, one JSON line each
// ({"record", "change"} / {"record", "skipped"} / {"record", "deadLetter"}); --report prints the fidelity report.
func cmdMap(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newCommand("map", `orosync map [flags] < document.json

Previews a mapping: the JSON:API document on stdin becomes the changes the transformer would publish, one JSON
line each; --report prints the mapping's fidelity report instead (with --mercato, each field's Mercato
destination: column, dictionary, custom field with its definition, or dropped with the reason).`, stdout, stderr)
	mappingFile := fs.String("mapping", env("OROSYNC_MAPPING", ""), "mapping version file (YAML or JSON); empty is the shipped default (OROSYNC_MAPPING)")
	typ := fs.String("type", "", "Oro type the document must hold (e.g. contacts); empty accepts any")
	tenant := fs.String("tenant", env("OROSYNC_TENANT", "demo"), "tenant named in the changes (OROSYNC_TENANT)")
	report := fs.Bool("report", false, "print the fidelity report of the mapping (per Oro type, every attribute and relationship: mapped, custom field or dropped) instead")
	mercato := fs.Bool("mercato", false, "with --report: add where each field lands in Mercato (table and column, dictionary, custom field definition)")
	if err := fs.parse(args); err != nil {
		return err
	}
	m, err := transformer.LoadMapping(*mappingFile)
	if err != nil {
		return err
	}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	if *mercato && !*report {
		fmt.Fprintln(stderr, "--mercato goes with --report")
		fs.usage(stderr)
		return errUsage
	}
	if *report {
		var lines []transformer.ReportLine
		for _, l := range m.Report() {
			if *typ == "" || l.Type == *typ {
				lines = append(lines, l)
			}
		}
		if *mercato {
			return encodeEach(enc, mercatoReport(m, lines))
		}
		return encodeEach(enc, lines)
	}
	doc, err := io.ReadAll(io.LimitReader(stdin, 256<<20))
	if err != nil {
		return fmt.Errorf("reading the document: %w", err)
	}
	records, err := transformer.ParseDocument(doc, *tenant, time.Now().UTC())
	if err != nil {
		return err
	}
	failed := 0
	for _, l := range m.Preview(records) {
		if *typ != "" && l.Record.Type != *typ {
			return fmt.Errorf("record %s/%s is not of --type %s", l.Record.Type, l.Record.ID, *typ)
		}
		if l.DeadLetter != nil {
			failed++
			fmt.Fprintf(stderr, "orosync map: %s: field %s, rule %s\n", l.DeadLetter, l.DeadLetter.Field, l.DeadLetter.Rule)
		}
		if err := enc.Encode(l); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d records would go to the dead-letter stream (mapping %s)", failed, len(records), m.Version)
	}
	return nil
}

// encodeEach writes each line as one JSON line.
func encodeEach[T any](enc *json.Encoder, lines []T) error {
	for _, l := range lines {
		if err := enc.Encode(l); err != nil {
			return err
		}
	}
	return nil
}
