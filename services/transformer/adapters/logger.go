package adapters

import (
	"context"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill"
)

// Logger maps Watermill's per-message info logs to debug so a busy pipeline does not flood the log.
//
// Watermill's own slog adapter turns every call's fields into slog attributes before slog checks the level, and the
// router and subscriber log several times per message at trace level. This one checks the level first.
func Logger(l *slog.Logger) watermill.LoggerAdapter {
	if l == nil {
		l = slog.Default()
	}
	return levelLogger{l: l}
}

type levelLogger struct{ l *slog.Logger }

func (g levelLogger) Error(msg string, err error, fields watermill.LogFields) {
	if g.l.Enabled(context.Background(), slog.LevelError) {
		g.l.Log(context.Background(), slog.LevelError, msg, append(attrs(fields), "error", err)...)
	}
}

// Info is logged at debug: Watermill logs each received message at info.
func (g levelLogger) Info(msg string, fields watermill.LogFields) {
	g.log(slog.LevelDebug, msg, fields)
}

func (g levelLogger) Debug(msg string, fields watermill.LogFields) {
	g.log(slog.LevelDebug, msg, fields)
}

func (g levelLogger) Trace(msg string, fields watermill.LogFields) {
	g.log(watermill.LevelTrace, msg, fields)
}

func (g levelLogger) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return levelLogger{l: g.l.With(attrs(fields)...)}
}

func (g levelLogger) log(level slog.Level, msg string, fields watermill.LogFields) {
	if g.l.Enabled(context.Background(), level) {
		g.l.Log(context.Background(), level, msg, attrs(fields)...)
	}
}

func attrs(fields watermill.LogFields) []any {
	out := make([]any, 0, 2*len(fields))
	for k, v := range fields {
		out = append(out, slog.Any(k, v))
	}
	return out
}
