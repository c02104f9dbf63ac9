package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
)

//go:embed templates
var templateFS embed.FS

var (
	textTemplates = texttemplate.Must(texttemplate.ParseFS(templateFS, "templates/*.txt"))
	htmlTemplates = htmltemplate.Must(htmltemplate.ParseFS(templateFS, "templates/*.html"))
)

// Render fills the text and HTML templates called name (reset, …) with data
// and returns a Message for to. The first line of the text template,
// "Subject: …", becomes the subject. HTML escaping of user text is
// html/template's: a welcome message with markup shows as text.
func Render(name, to, toName string, data any) (Message, error) {
	var txt, html bytes.Buffer
	if err := textTemplates.ExecuteTemplate(&txt, name+".txt", data); err != nil {
		return Message{}, fmt.Errorf("mail: render %s text: %w", name, err)
	}
	if err := htmlTemplates.ExecuteTemplate(&html, name+".html", data); err != nil {
		return Message{}, fmt.Errorf("mail: render %s html: %w", name, err)
	}
	first, body, _ := strings.Cut(txt.String(), "\n")
	subject, ok := strings.CutPrefix(first, "Subject: ")
	if !ok {
		return Message{}, fmt.Errorf("mail: template %s.txt must start with a Subject: line", name)
	}
	return Message{To: to, ToName: toName, Subject: strings.TrimSpace(subject), Text: strings.TrimLeft(body, "\n"), HTML: html.String()}, nil
}
