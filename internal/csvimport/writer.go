package csvimport

import (
	"encoding/csv"
	"fmt"
	"io"
)

// Writer writes CSV files for spreadsheets: UTF-8, comma-separated, LF line
// endings, with every cell a spreadsheet could take for a formula (starting
// with =, +, -, @, tab or carriage return) prefixed with a quote, as OWASP
// advises against CSV injection. Reader removes that quote again, so files
// Roster writes can be uploaded back unchanged.
type Writer struct {
	cw  *csv.Writer
	rec []string
}

// NewWriter returns a Writer writing to w. Call Flush when done.
func NewWriter(w io.Writer) *Writer {
	return &Writer{cw: csv.NewWriter(w)}
}

// Write writes one record, neutralizing formulas.
func (w *Writer) Write(record []string) error {
	w.rec = w.rec[:0]
	for _, cell := range record {
		w.rec = append(w.rec, neutralize(cell))
	}
	if err := w.cw.Write(w.rec); err != nil {
		return fmt.Errorf("csvimport: write record: %w", err)
	}
	return nil
}

// Flush writes any buffered data and returns the first error of any Write
// or Flush.
func (w *Writer) Flush() error {
	w.cw.Flush()
	if err := w.cw.Error(); err != nil {
		return fmt.Errorf("csvimport: flush: %w", err)
	}
	return nil
}
