package csvimport

// template is the sample file: the header of Columns and two example rows,
// one with every column and one with only the required email.
const template = "email,first_name,last_name,expiration_date,permissions\r\n" +
	"ada.lovelace@example.com,Ada,Lovelace,2030-12-31,manage_users;view_analytics\r\n" +
	"grace.hopper@example.com,,,,\r\n"

// Template returns the "Download sample CSV" file: UTF-8 (plain ASCII), CRLF
// line endings, the header `email,first_name,last_name,expiration_date,permissions`
// and two example rows. The caller may modify the returned slice.
func Template() []byte { return []byte(template) }
