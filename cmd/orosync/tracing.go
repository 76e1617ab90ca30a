package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// tracerProvider is the OpenTelemetry tracer provider the standard environment asks for: OTEL_TRACES_EXPORTER
// "otlp" (OTLP over HTTP, where OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT says; the default once an endpoint is set),
// "console" (spans as JSON on stdout) or "none". With none, it returns nil: the services then start no span and add
// no header. The returned func flushes and stops the exporter.
func tracerProvider(ctx context.Context, getenv func(string) string, stdout io.Writer) (trace.TracerProvider, func(), error) {
	kind := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER"))
	endpoint := getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") + getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	if kind == "" && endpoint != "" {
		kind = "otlp"
	}
	var exp sdktrace.SpanExporter
	var err error
	switch kind {
	case "", "none":
		return nil, func() {}, nil
	case "otlp":
		protocol := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
		if protocol == "" {
			protocol = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
		}
		if protocol != "" && protocol != "http/protobuf" {
			return nil, nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL %q: orosync exports traces as http/protobuf only", protocol)
		}
		exp, err = otlptracehttp.New(ctx) // reads OTEL_EXPORTER_OTLP_* itself
	case "console":
		exp, err = stdouttrace.New(stdouttrace.WithWriter(stdout))
	default:
		return nil, nil, fmt.Errorf("OTEL_TRACES_EXPORTER %q: orosync knows otlp, console and none", kind)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("trace exporter %s: %w", kind, err)
	}
	res, err := resource.New(ctx, resource.WithAttributes(attribute.String("service.name", "orosync")), resource.WithFromEnv())
	if err != nil {
		return nil, nil, fmt.Errorf("trace resource (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES): %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return tp, func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = tp.Shutdown(sctx)
	}, nil
}

// osTracerProvider is tracerProvider of the process's environment.
func osTracerProvider(ctx context.Context, stdout io.Writer) (trace.TracerProvider, func(), error) {
	return tracerProvider(ctx, os.Getenv, stdout)
}
