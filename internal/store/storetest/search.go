package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
)

// Contract tests of the listing: filters, search, sorts, keyset paging,
// counts, and the whole-set selection bulk actions and exports use. Each
// listing test runs twice: with the default count cap, where a few dozen
// users take the "sort the matches" plan, and with a cap of 2, where the
// same queries take the "walk the sort index" plan and report a total that
// is not exact.

var listToday = roster.Date{Year: 2026, Month: 11, Day: 23}

// person is a fixture user.
type person struct {
	email, first, last string
	perms              roster.Permissions
	exp                roster.Date
	login, invited     time.Time
}

// searchPeople are names from many languages, with the statuses and
// permissions the filter cases below expect.
var searchPeople = []person{
	{email: "anna.kowalska@acme.example", first: "Anna", last: "Kowalska", perms: roster.Permissions(roster.ViewAnalytics),
		login: t0.Add(-48 * time.Hour), invited: t0.Add(-72 * time.Hour)},
	{email: "jose.garcia@acme.example", first: "José", last: "García", exp: listToday.AddDays(30), invited: t0.Add(-24 * time.Hour)},
	{email: "zhang.wei@acme.example", first: "伟", last: "张", login: t0.Add(-time.Hour)},
	{email: "ivan.petrov@acme.example", first: "Иван", last: "Петров", exp: listToday, login: t0.Add(-500 * time.Hour)},
	{email: "fatima@acme.example", first: "فاطمة", last: "الزهراء", exp: listToday.AddDays(-3)},
	{email: "elodie.martin@acme.example", first: "Élodie", last: "Martin", perms: roster.Permissions(roster.ManageUsers), exp: listToday.AddDays(1)},
	{email: "o.neil@acme.example", first: "Ann", last: "O'Neil", login: t0.Add(-24 * time.Hour)},
	{email: "bob@acme.example", first: "Bob", last: "Smith", perms: roster.AllPermissionsSet, exp: listToday.AddDays(400)},
}

// makePeople creates people in org (and the same people, with another
// domain, in a second organization that must never show).
func makePeople(t *testing.T, db *store.DB, org *roster.Org, people []person) map[string]int64 {
	t.Helper()
	ids := map[string]int64{}
	err := tx(t, db, func(ctx context.Context, tx *store.Tx) error {
		for _, p := range people {
			u := &roster.User{OrgID: org.ID, Email: p.email, FirstName: p.first, LastName: p.last, Permissions: p.perms, ExpirationDate: p.exp}
			if err := tx.CreateUser(ctx, u, t0); err != nil {
				return err
			}
			ids[p.email] = u.ID
			if !p.login.IsZero() {
				if err := tx.RecordLogin(ctx, org.ID, u.ID, p.login); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("create people: %v", err)
	}
	for _, p := range people {
		if !p.invited.IsZero() {
			if _, err := db.SQL().ExecContext(t.Context(), "UPDATE users SET last_invited_at = $1, invitation_count = 1 WHERE id = $2",
				p.invited.UTC(), ids[p.email]); err != nil {
				t.Fatal(err)
			}
		}
	}
	return ids
}

// bothPlans runs fn with the default count cap, and with a cap of 2: once
// as searches are planned past the cap (collecting up to 5 matches when
// there are surely no more, walking the sort index otherwise), and once
// walking whenever more than 2 match.
func bothPlans(t *testing.T, db *store.DB, fn func(t *testing.T, capped bool)) {
	t.Run("sorted matches", func(t *testing.T) { db.SetMaxExactTotal(0); fn(t, false) })
	t.Run("collected past the cap", func(t *testing.T) { db.SetMaxExactTotal(2); fn(t, true) })
	t.Run("index walk", func(t *testing.T) { db.SetMaxExactTotal(2); db.SetCollectPercent(100); fn(t, true) })
	db.SetMaxExactTotal(0)
	db.SetCollectPercent(0)
}

func emailsOf(users []*roster.User) []string {
	var out []string
	for _, u := range users {
		out = append(out, u.Email)
	}
	return out
}

// listAll walks every page of a listing and returns the emails in order.
func listAll(t *testing.T, db *store.DB, orgID int64, f roster.UserFilter) ([]string, *store.UserPage) {
	t.Helper()
	var got []string
	var first *store.UserPage
	for pages := 0; ; pages++ {
		page, err := db.ListUsers(t.Context(), orgID, f, listToday)
		if err != nil {
			t.Fatalf("ListUsers(%+v): %v", f, err)
		}
		if first == nil {
			first = page
		}
		got = append(got, emailsOf(page.Users)...)
		if page.NextCursor == "" {
			break
		}
		if pages > 1000 {
			t.Fatalf("ListUsers(%+v): more than 1000 pages", f)
		}
		f.Cursor = page.NextCursor
	}
	return got, first
}

func testListSearch(t *testing.T, db *store.DB) {
	acme, other := MakeOrg(t, db, "acme"), MakeOrg(t, db, "other")
	makePeople(t, db, acme, searchPeople)
	var twins []person
	for _, p := range searchPeople {
		p.email = strings.Replace(p.email, "acme", "other", 1)
		twins = append(twins, p)
	}
	makePeople(t, db, other, twins)
	cases := []struct {
		q    string
		want []string // emails, sorted
	}{
		{"kowal", []string{"anna.kowalska@acme.example"}},                     // middle of an email and a last name
		{"OWALS", []string{"anna.kowalska@acme.example"}},                     // case
		{"arcí", []string{"jose.garcia@acme.example"}},                        // accent, in a last name
		{"GARCÍA", []string{"jose.garcia@acme.example"}},                      // accent and case
		{"élodie", []string{"elodie.martin@acme.example"}},                    // accented capital
		{"петр", []string{"ivan.petrov@acme.example"}},                        // Cyrillic, case
		{"ИВАН", []string{"ivan.petrov@acme.example"}},                        // Cyrillic capitals
		{"الزهراء", []string{"fatima@acme.example"}},                          // Arabic
		{"伟", []string{"zhang.wei@acme.example"}},                             // one CJK character: prefix of a name
		{"张", []string{"zhang.wei@acme.example"}},                             // and of the other
		{"an", []string{"anna.kowalska@acme.example", "o.neil@acme.example"}}, // short: starts an email or a name
		{"Ma", []string{"elodie.martin@acme.example"}},                        // short: start of a last name only
		{"é", []string{"elodie.martin@acme.example"}},                         // short, accented
		{"ni", nil}, // short terms do not match inside words
		{"ann o'neil", []string{"o.neil@acme.example"}}, // every word, anywhere in the name
		{"ann smith", nil}, // two people, no one person
		{"wei acme", []string{"zhang.wei@acme.example"}}, // name and domain
		{"  bob  ", []string{"bob@acme.example"}},        // spaces around
		{"%", nil},                               // LIKE wildcards are literal
		{"a_n", nil},                             //
		{"o'n", []string{"o.neil@acme.example"}}, // quote inside a word
		{`"bob`, nil},                            // FTS syntax is literal
		{"example", emailsWith(searchPeople, "")}, // everyone, in one org
		{"xyzzy", nil}, // no one
		{"tin@acme", []string{"elodie.martin@acme.example"}},                       // across the @
		{"acme.example", emailsWith(searchPeople, "")},                             // with a dot
		{"ska", []string{"anna.kowalska@acme.example"}},                            // end of a name
		{"wal", []string{"anna.kowalska@acme.example"}},                            // exactly 3 characters
		{"bob smith", []string{"bob@acme.example"}},                                // first and last name
		{"smith bob", []string{"bob@acme.example"}},                                // in any order
		{"ANN", []string{"anna.kowalska@acme.example", "o.neil@acme.example"}},     // 3 letters, anywhere
		{"ann ann", []string{"anna.kowalska@acme.example", "o.neil@acme.example"}}, // repeated word
		{"o.neil@acme.example", []string{"o.neil@acme.example"}},                   // a whole address
		{"jose.garcia@acme.example garcía", []string{"jose.garcia@acme.example"}},  //
		{"ИВАН@", nil}, // no such email
		{"ivan.petrov@acme.example петров", []string{"ivan.petrov@acme.example"}}, //
		{"a", []string{"anna.kowalska@acme.example", "o.neil@acme.example"}},      // one letter
		{"z", []string{"zhang.wei@acme.example"}},                                 //
		{"Ж", nil}, //
		{"п", []string{"ivan.petrov@acme.example"}},                       // one Cyrillic letter, lowercase of a capital
		{"ф", []string{"fatima@acme.example"}[:0]},                        // Cyrillic letter no one starts with
		{"ف", []string{"fatima@acme.example"}},                            // Arabic letter that starts a name
		{"sm", []string{"bob@acme.example"}},                              //
		{"ma an", []string{}},                                             // each short word must start some part
		{"an ko", []string{"anna.kowalska@acme.example"}},                 //
		{"elo mar", []string{"elodie.martin@acme.example"}},               // substring of email + name
		{"ÉLODIE MARTIN", []string{"elodie.martin@acme.example"}},         //
		{"zhang 伟", []string{"zhang.wei@acme.example"}},                   //
		{"kowalska@acme.example", []string{"anna.kowalska@acme.example"}}, //
		{"@acme.example", emailsWith(searchPeople, "")},                   //
		{"acme.exam", emailsWith(searchPeople, "")},                       //
		{"example acme", emailsWith(searchPeople, "")},                    //
		{"ann.", nil}, // anna.kowalska has "anna." not "ann."
		{"nna.", []string{"anna.kowalska@acme.example"}}, //
		{"o'neil", []string{"o.neil@acme.example"}},      //
		{"O'NEIL", []string{"o.neil@acme.example"}},      //
		{"neil@", []string{"o.neil@acme.example"}},       //
		{"n.", nil}, // short: no part starts with it
		{"jo", []string{"jose.garcia@acme.example"}},              // prefix of an email and of José
		{"JO", []string{"jose.garcia@acme.example"}},              //
		{"jos", []string{"jose.garcia@acme.example"}},             //
		{"josé", []string{"jose.garcia@acme.example"}},            //
		{"jose garcia", []string{"jose.garcia@acme.example"}},     // the email holds both
		{"josé garcía", []string{"jose.garcia@acme.example"}},     // the name holds both
		{"iv", []string{"ivan.petrov@acme.example"}},              //
		{"ив", []string{"ivan.petrov@acme.example"}},              //
		{"Ив", []string{"ivan.petrov@acme.example"}},              //
		{"ИВ", []string{"ivan.petrov@acme.example"}},              //
		{"iva", []string{"ivan.petrov@acme.example"}},             //
		{"van", []string{"ivan.petrov@acme.example"}},             //
		{"ван", []string{"ivan.petrov@acme.example"}},             //
		{"bo", []string{"bob@acme.example"}},                      //
		{"b", []string{"bob@acme.example"}},                       //
		{"ob@", []string{"bob@acme.example"}},                     //
		{"ob", nil},                                               // short, inside a word
		{"ith", []string{"bob@acme.example"}},                     //
		{"mit", []string{"bob@acme.example"}},                     //
		{"ma", []string{"elodie.martin@acme.example"}},            //
		{"mar", []string{"elodie.martin@acme.example"}},           //
		{"tin", []string{"elodie.martin@acme.example"}},           //
		{"die", []string{"elodie.martin@acme.example"}},           //
		{"odie.", []string{"elodie.martin@acme.example"}},         //
		{"lod", []string{"elodie.martin@acme.example"}},           //
		{"éLO", []string{"elodie.martin@acme.example"}},           //
		{"fatima", []string{"fatima@acme.example"}},               //
		{"tim", []string{"fatima@acme.example"}},                  //
		{"فاطمة الزهراء", []string{"fatima@acme.example"}},        //
		{"زهر", []string{"fatima@acme.example"}},                  // Arabic, middle of a name
		{"wei", []string{"zhang.wei@acme.example"}},               //
		{"zha", []string{"zhang.wei@acme.example"}},               //
		{"g.w", []string{"zhang.wei@acme.example"}},               //
		{"kowalska anna", []string{"anna.kowalska@acme.example"}}, //
		{"anna kowalska", []string{"anna.kowalska@acme.example"}}, //
		{"ann kowalska", []string{"anna.kowalska@acme.example"}},  //
		{"nn", nil},                             //
		{"o", []string{"o.neil@acme.example"}},  //
		{"o.", []string{"o.neil@acme.example"}}, //
		{"ANNA.KOWALSKA@ACME.EXAMPLE", []string{"anna.kowalska@acme.example"}}, //
		{"other", nil},         // the other org's domain
		{"other.example", nil}, //
		{"Петров Иван", []string{"ivan.petrov@acme.example"}}, //
		{"петров", []string{"ivan.petrov@acme.example"}},      //
		{"ПЕТРОВ", []string{"ivan.petrov@acme.example"}},      //
		{"garcía josé", []string{"jose.garcia@acme.example"}}, //
		{"Garcia", []string{"jose.garcia@acme.example"}},      // unaccented: the email has it
		{"marti", []string{"elodie.martin@acme.example"}},     //
		{"martín", nil}, // accents are not ignored
		{"bob bob bob bob bob bob bob bob bob bob", []string{"bob@acme.example"}}, // many words
		{"a b c d e f g h i j", nil},         // more words than kept: still none
		{strings.Repeat("x", 300), nil},      // long
		{"\t", emailsWith(searchPeople, "")}, // blank: everyone
	}
	bothPlans(t, db, func(t *testing.T, capped bool) {
		for _, c := range cases {
			got, first := listAll(t, db, acme.ID, roster.UserFilter{Query: c.q, Limit: 3})
			slices.Sort(got)
			want := slices.Clone(c.want)
			slices.Sort(want)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("search %q = %v, want %v", c.q, got, want)
				continue
			}
			wantTotal, wantExact := len(want), true
			if capped && len(want) > 2 {
				wantTotal, wantExact = 2, false
			}
			if first.Total != wantTotal || first.TotalExact != wantExact {
				t.Errorf("search %q: total %d exact %v, want %d %v", c.q, first.Total, first.TotalExact, wantTotal, wantExact)
			}
		}
	})
}

// emailsWith returns the emails of people, filtered by a substring of them.
func emailsWith(people []person, sub string) []string {
	var out []string
	for _, p := range people {
		if strings.Contains(p.email, sub) {
			out = append(out, p.email)
		}
	}
	return out
}

func testListFilters(t *testing.T, db *store.DB) {
	acme, other := MakeOrg(t, db, "acme"), MakeOrg(t, db, "other")
	makePeople(t, db, acme, searchPeople)
	makePeople(t, db, other, []person{{email: "x@other.example", first: "Anna", perms: roster.AllPermissionsSet, login: t0}})
	d := func(s string) roster.Date {
		v, err := roster.ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name string
		f    roster.UserFilter
		want []string
	}{
		{"expired", roster.UserFilter{Status: roster.StatusExpired}, []string{"fatima@acme.example", "ivan.petrov@acme.example"}},
		{"active", roster.UserFilter{Status: roster.StatusActive}, []string{"anna.kowalska@acme.example", "o.neil@acme.example", "zhang.wei@acme.example"}},
		{"not logged in", roster.UserFilter{Status: roster.StatusNotLoggedIn}, []string{"bob@acme.example", "elodie.martin@acme.example", "jose.garcia@acme.example"}},
		{"permission", roster.UserFilter{Permission: roster.ManageUsers}, []string{"bob@acme.example", "elodie.martin@acme.example"}},
		{"permission analytics", roster.UserFilter{Permission: roster.ViewAnalytics}, []string{"anna.kowalska@acme.example", "bob@acme.example"}},
		{"expires from", roster.UserFilter{ExpiresFrom: listToday.AddDays(1)}, []string{"bob@acme.example", "elodie.martin@acme.example", "jose.garcia@acme.example"}},
		{"expires to", roster.UserFilter{ExpiresTo: listToday}, []string{"fatima@acme.example", "ivan.petrov@acme.example"}},
		{"expires range", roster.UserFilter{ExpiresFrom: listToday, ExpiresTo: listToday.AddDays(30)},
			[]string{"elodie.martin@acme.example", "ivan.petrov@acme.example", "jose.garcia@acme.example"}},
		{"expires one day", roster.UserFilter{ExpiresFrom: listToday, ExpiresTo: listToday}, []string{"ivan.petrov@acme.example"}},
		{"never logged in", roster.UserFilter{LastLogin: roster.LastLoginFilter{Never: true}},
			[]string{"bob@acme.example", "elodie.martin@acme.example", "fatima@acme.example", "jose.garcia@acme.example"}},
		// t0 is 2026-11-23 10:30 UTC: logins at t0-1h and t0-24h (the 22nd), t0-48h (the 21st), t0-500h.
		{"logged in before", roster.UserFilter{LastLogin: roster.LastLoginFilter{Before: d("2026-11-22")}},
			[]string{"anna.kowalska@acme.example", "ivan.petrov@acme.example"}},
		{"logged in after", roster.UserFilter{LastLogin: roster.LastLoginFilter{After: d("2026-11-21")}},
			[]string{"o.neil@acme.example", "zhang.wei@acme.example"}},
		{"logged in between", roster.UserFilter{LastLogin: roster.LastLoginFilter{After: d("2026-11-01"), Before: d("2026-11-23")}},
			[]string{"anna.kowalska@acme.example", "ivan.petrov@acme.example", "o.neil@acme.example"}},
		{"search and status", roster.UserFilter{Query: "acme", Status: roster.StatusExpired}, []string{"fatima@acme.example", "ivan.petrov@acme.example"}},
		{"search and permission", roster.UserFilter{Query: "an", Permission: roster.ViewAnalytics}, []string{"anna.kowalska@acme.example"}},
		{"search and last login", roster.UserFilter{Query: "example", LastLogin: roster.LastLoginFilter{Never: true}, Status: roster.StatusNotLoggedIn},
			[]string{"bob@acme.example", "elodie.martin@acme.example", "jose.garcia@acme.example"}},
		{"everything", roster.UserFilter{Query: "bob", Status: roster.StatusNotLoggedIn, Permission: roster.ManageComments,
			ExpiresFrom: listToday, ExpiresTo: listToday.AddDays(400), LastLogin: roster.LastLoginFilter{Never: true}}, []string{"bob@acme.example"}},
		{"nothing", roster.UserFilter{Status: roster.StatusExpired, Permission: roster.ManageUsers}, nil},
	}
	bothPlans(t, db, func(t *testing.T, capped bool) {
		for _, c := range cases {
			for _, sort := range roster.SortKeys {
				for _, desc := range []bool{false, true} {
					f := c.f
					f.Sort, f.Desc, f.Limit = sort, desc, 2
					got, first := listAll(t, db, acme.ID, f)
					slices.Sort(got)
					if fmt.Sprint(got) != fmt.Sprint(c.want) {
						t.Errorf("%s (sort %s desc %v): ListUsers = %v, want %v", c.name, sort, desc, got, c.want)
						continue
					}
					if !capped && (first.Total != len(c.want) || !first.TotalExact) {
						t.Errorf("%s: total %d exact %v, want %d", c.name, first.Total, first.TotalExact, len(c.want))
					}
				}
			}
		}
	})
	// Last-login days are the organization's: at UTC+14 anna's login
	// (2026-11-21 10:30 UTC) is on the 22nd, ivan's still weeks before.
	kiritimati := MakeOrg(t, db, "kiritimati")
	if _, err := db.SQL().ExecContext(t.Context(), "UPDATE orgs SET time_zone = 'Pacific/Kiritimati' WHERE id = $1", kiritimati.ID); err != nil {
		t.Fatal(err)
	}
	makePeople(t, db, kiritimati, searchPeople)
	got, _ := listAll(t, db, kiritimati.ID, roster.UserFilter{LastLogin: roster.LastLoginFilter{After: d("2026-11-21")}})
	slices.Sort(got)
	if want := []string{"anna.kowalska@acme.example", "o.neil@acme.example", "zhang.wei@acme.example"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("UTC+14: logged in after 2026-11-21 = %v, want %v", got, want)
	}
	got, _ = listAll(t, db, kiritimati.ID, roster.UserFilter{LastLogin: roster.LastLoginFilter{Before: d("2026-11-22")}})
	if want := []string{"ivan.petrov@acme.example"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("UTC+14: logged in before 2026-11-22 = %v, want %v", got, want)
	}
}

// pagingRow is a user of the paging test, with the values it sorts by.
var pagingSearches = []string{"oduya", "bob u2", "lee u2", "car", "xu", "u1"}

// pagingMatch tells whether u matches the search q of pagingSearches: each
// word of three characters or more anywhere in the email or the full name,
// each shorter one at the start of the email, the first or the last name.
func pagingMatch(u *roster.User, q string) bool {
	for w := range strings.FieldsSeq(q) {
		text := strings.ToLower(u.Email + " " + u.FirstName + " " + u.LastName)
		if len(w) >= 3 && !strings.Contains(text, w) {
			return false
		}
		if len(w) < 3 && !slices.ContainsFunc([]string{u.Email, u.FirstName, u.LastName}, func(s string) bool {
			return strings.HasPrefix(strings.ToLower(s), w)
		}) {
			return false
		}
	}
	return true
}

type pagingRow struct {
	id                    int64
	email, name           string
	login, invited, exp   string // "" for NULL
	created               string
	loginN, invN, expNull bool
}

// testListPaging walks every sort in both directions, a few rows a page,
// over users with many equal values and NULLs, and compares with the order
// the sort defines: by value, ties by id, NULL login and invitation times
// first (they are the oldest), no expiration date last (it never comes).
//
// pagingSearches match 3 to 10 of its users: "oduya" 4, more than the cap
// of 2 and no more than the 5 collected past it (on SQLite: the FTS table
// counts them first); "bob u2" 3 and "lee u2" 4, of a long word of more;
// "car" and "xu" (a short word) 7, "u1" 10.
func testListPaging(t *testing.T, db *store.DB) {
	acme, other := MakeOrg(t, db, "acme"), MakeOrg(t, db, "other")
	makePeople(t, db, other, []person{{email: "a@other.example", first: "Aaron", login: t0}})
	names := []string{"Ann Lee", "Bob Stone", "ann lee", "Carl Xu", "Ann Lee"}
	var rows []pagingRow
	for i := range 37 {
		email := fmt.Sprintf("u%02d.%c@acme.example", (i*17)%37, 'a'+rune(i%5))
		first, last, _ := strings.Cut(names[i%len(names)], " ")
		if i%9 == 4 {
			last = "Oduya" // 4 users: more than the cap of 2, fewer than 5
		}
		u := &roster.User{OrgID: acme.ID, Email: email, FirstName: first, LastName: last}
		if i%4 != 0 {
			u.ExpirationDate = listToday.AddDays(i % 3)
		}
		created := t0.Add(time.Duration(i%4) * time.Minute)
		if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error {
			if err := tx.CreateUser(ctx, u, created); err != nil {
				return err
			}
			if i%3 != 0 {
				return tx.RecordLogin(ctx, acme.ID, u.ID, t0.Add(time.Duration(i%2)*time.Hour))
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if i%5 > 1 {
			if _, err := db.SQL().ExecContext(t.Context(), "UPDATE users SET last_invited_at = $1 WHERE id = $2",
				t0.Add(time.Duration(i%5)*time.Second).UTC(), u.ID); err != nil {
				t.Fatal(err)
			}
		}
		rows = append(rows, pagingRow{id: u.ID, email: email, name: strings.ToLower(first + " " + last)})
	}
	bothPlans(t, db, func(t *testing.T, capped bool) {
		all, err := db.UsersByIDs(t.Context(), acme.ID, idsOf(rows))
		if err != nil || len(all) != len(rows) {
			t.Fatalf("UsersByIDs = %d users, %v", len(all), err)
		}
		for _, sort := range roster.SortKeys {
			for _, desc := range []bool{false, true} {
				want := expectedOrder(all, sort, desc)
				for _, limit := range []int{1, 4, 36, 37, 50} {
					got, first := listAll(t, db, acme.ID, roster.UserFilter{Sort: sort, Desc: desc, Limit: limit})
					if fmt.Sprint(got) != fmt.Sprint(want) {
						t.Errorf("sort %s desc %v limit %d:\n got %v\nwant %v", sort, desc, limit, got, want)
					}
					if wantExact := !capped; first.TotalExact != wantExact {
						t.Errorf("sort %s: TotalExact = %v, want %v", sort, first.TotalExact, wantExact)
					}
				}
				// With a filter, paging still has no gaps nor duplicates.
				got, _ := listAll(t, db, acme.ID, roster.UserFilter{Sort: sort, Desc: desc, Limit: 3, Query: "acme", Status: roster.StatusActive})
				var wantActive []string
				for _, e := range want {
					for _, u := range all {
						if u.Email == e && u.StatusOn(listToday) == roster.StatusActive {
							wantActive = append(wantActive, e)
						}
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(wantActive) {
					t.Errorf("sort %s desc %v, active: got %v\nwant %v", sort, desc, got, wantActive)
				}
				// Searches alone, of fewer and more matches than the page,
				// the cap, and what is collected past it: the same order.
				for _, q := range pagingSearches {
					var wantQ []string
					for _, e := range want {
						for _, u := range all {
							if u.Email == e && pagingMatch(u, q) {
								wantQ = append(wantQ, e)
							}
						}
					}
					got, _ := listAll(t, db, acme.ID, roster.UserFilter{Sort: sort, Desc: desc, Limit: 2, Query: q})
					if fmt.Sprint(got) != fmt.Sprint(wantQ) {
						t.Errorf("sort %s desc %v, search %q: got %v\nwant %v", sort, desc, q, got, wantQ)
					}
				}
			}
		}
	})
	// A cursor belongs to its sort.
	page, err := db.ListUsers(t.Context(), acme.ID, roster.UserFilter{Sort: "name", Limit: 2}, listToday)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []roster.UserFilter{
		{Sort: "email", Cursor: page.NextCursor},
		{Sort: "name", Desc: true, Cursor: page.NextCursor},
		{Cursor: "garbage!"},
		{Cursor: "eyJpZCI6MH0"},
		{Sort: "password_hash"},
	} {
		var ve *roster.ValidationError
		if _, err := db.ListUsers(t.Context(), acme.ID, f, listToday); !errors.As(err, &ve) {
			t.Errorf("ListUsers(%+v) err = %v, want a validation error", f, err)
		}
	}
}

func idsOf(rows []pagingRow) []int64 {
	var ids []int64
	for _, r := range rows {
		ids = append(ids, r.id)
	}
	return ids
}

// expectedOrder sorts users as the listing defines, in Go.
func expectedOrder(users []*roster.User, sort string, desc bool) []string {
	type key struct {
		null bool
		v    string
		id   int64
	}
	keyOf := func(u *roster.User) key {
		tm := func(t time.Time) key {
			if t.IsZero() {
				return key{null: true, id: u.ID}
			}
			return key{v: t.UTC().Format("2006-01-02T15:04:05.000000"), id: u.ID}
		}
		switch sort {
		case "name":
			return key{v: strings.ToLower(u.FirstName + " " + u.LastName), id: u.ID}
		case "last_login_at":
			return tm(u.LastLoginAt)
		case "last_invited_at":
			return tm(u.LastInvitedAt)
		case "created_at":
			return tm(u.CreatedAt)
		case "expiration_date":
			if u.ExpirationDate.IsZero() {
				return key{null: true, id: u.ID}
			}
			return key{v: u.ExpirationDate.String(), id: u.ID}
		}
		return key{v: u.Email, id: u.ID}
	}
	nullsLargest := sort == "expiration_date"
	sorted := slices.Clone(users)
	slices.SortFunc(sorted, func(a, b *roster.User) int {
		ka, kb := keyOf(a), keyOf(b)
		var c int
		switch {
		case ka.null != kb.null:
			c = -1 // the NULL one first
			if ka.null == nullsLargest {
				c = 1
			}
		default:
			c = cmp.Or(strings.Compare(ka.v, kb.v), cmp.Compare(ka.id, kb.id))
		}
		if desc {
			c = -c
		}
		return c
	})
	return emailsOf(sorted)
}

func testCountByStatus(t *testing.T, db *store.DB) {
	acme, other := MakeOrg(t, db, "acme"), MakeOrg(t, db, "other")
	makePeople(t, db, acme, searchPeople)
	makePeople(t, db, other, searchPeople[:3])
	got, err := db.CountByStatus(t.Context(), acme.ID, listToday)
	if err != nil {
		t.Fatal(err)
	}
	want := map[roster.Status]int{roster.StatusActive: 3, roster.StatusNotLoggedIn: 3, roster.StatusExpired: 2}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("CountByStatus = %v, want %v", got, want)
	}
	// A day later Élodie's access has ended too.
	got, _ = db.CountByStatus(t.Context(), acme.ID, listToday.AddDays(1))
	want = map[roster.Status]int{roster.StatusActive: 3, roster.StatusNotLoggedIn: 2, roster.StatusExpired: 3}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("CountByStatus(tomorrow) = %v, want %v", got, want)
	}
	empty := MakeOrg(t, db, "empty")
	got, _ = db.CountByStatus(t.Context(), empty.ID, listToday)
	want = map[roster.Status]int{roster.StatusActive: 0, roster.StatusNotLoggedIn: 0, roster.StatusExpired: 0}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("CountByStatus(empty org) = %v, want %v", got, want)
	}
}

func testUserIDs(t *testing.T, db *store.DB) {
	acme, other := MakeOrg(t, db, "acme"), MakeOrg(t, db, "other")
	ids := makePeople(t, db, acme, searchPeople)
	otherIDs := makePeople(t, db, other, searchPeople)
	walk := func(f roster.UserFilter, batch int) []int64 {
		var out []int64
		after := int64(0)
		for range 100 {
			got, err := db.UserIDs(t.Context(), acme.ID, f, listToday, after, batch)
			if err != nil {
				t.Fatalf("UserIDs(%+v): %v", f, err)
			}
			out = append(out, got...)
			if len(got) < batch {
				return out
			}
			after = got[len(got)-1]
		}
		t.Fatalf("UserIDs(%+v): no end", f)
		return nil
	}
	want := func(emails ...string) []int64 {
		var out []int64
		for _, e := range emails {
			out = append(out, ids[e])
		}
		slices.Sort(out)
		return out
	}
	cases := []struct {
		f    roster.UserFilter
		want []int64
	}{
		{roster.UserFilter{}, want(emailsWith(searchPeople, "")...)},
		{roster.UserFilter{Query: "an"}, want("anna.kowalska@acme.example", "o.neil@acme.example")},
		{roster.UserFilter{Query: "acme.example"}, want(emailsWith(searchPeople, "")...)},
		{roster.UserFilter{Query: "kowalska"}, want("anna.kowalska@acme.example")},
		{roster.UserFilter{Status: roster.StatusExpired}, want("fatima@acme.example", "ivan.petrov@acme.example")},
		{roster.UserFilter{Query: "acme", Status: roster.StatusActive, Sort: "name", Desc: true, Limit: 1, Cursor: "ignored"},
			want("anna.kowalska@acme.example", "o.neil@acme.example", "zhang.wei@acme.example")},
		{roster.UserFilter{Permission: roster.ManageUsers}, want("bob@acme.example", "elodie.martin@acme.example")},
		{roster.UserFilter{Query: "nobody"}, nil},
	}
	for _, c := range cases {
		for _, batch := range []int{1, 3, 1000} {
			if got := walk(c.f, batch); fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("UserIDs(%+v) in batches of %d = %v, want %v", c.f, batch, got, c.want)
			}
		}
	}
	if got, err := db.UserIDs(t.Context(), acme.ID, roster.UserFilter{}, listToday, 0, 0); err != nil || len(got) != 0 {
		t.Errorf("UserIDs(limit 0) = %v, %v; want none", got, err)
	}
	// Another organization's ids, or missing ones, are left out.
	mixed := []int64{otherIDs["bob@acme.example"], ids["bob@acme.example"], 999999, ids["fatima@acme.example"], otherIDs["fatima@acme.example"]}
	users, err := db.UsersByIDs(t.Context(), acme.ID, mixed)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(emailsOf(users)), fmt.Sprint([]string{"bob@acme.example", "fatima@acme.example"}); ids["bob@acme.example"] < ids["fatima@acme.example"] && got != want {
		t.Errorf("UsersByIDs(mixed) = %v, want %v", got, want)
	}
	for _, u := range users {
		if u.OrgID != acme.ID {
			t.Errorf("UsersByIDs returned user %d of org %d", u.ID, u.OrgID)
		}
	}
	if users, err := db.UsersByIDs(t.Context(), other.ID, []int64{ids["bob@acme.example"]}); err != nil || len(users) != 0 {
		t.Errorf("UsersByIDs(other org) = %d users, %v; want none", len(users), err)
	}
	if users, err := db.UsersByIDs(t.Context(), acme.ID, nil); err != nil || len(users) != 0 {
		t.Errorf("UsersByIDs(nil) = %v, %v", users, err)
	}
}

// testSearchIndexFollowsChanges checks that the search index follows
// inserts, renames, other updates and deletes.
func testSearchIndexFollowsChanges(t *testing.T, db *store.DB) {
	org := MakeOrg(t, db, "acme")
	ids := makePeople(t, db, org, searchPeople[:2])
	find := func(q string) []string {
		got, _ := listAll(t, db, org.ID, roster.UserFilter{Query: q})
		return got
	}
	if got := find("kowalska"); len(got) != 1 {
		t.Fatalf("search after insert = %v", got)
	}
	u, err := db.UserByID(t.Context(), org.ID, ids["anna.kowalska@acme.example"])
	if err != nil {
		t.Fatal(err)
	}
	u.LastName = "Nowak"
	if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error { return tx.UpdateUser(ctx, u, t0) }); err != nil {
		t.Fatal(err)
	}
	if got := find("nowak"); len(got) != 1 {
		t.Errorf("search new name = %v, want anna", got)
	}
	if got := find("anna kowalska"); len(got) != 1 {
		t.Errorf("search old name, still in the email = %v", got)
	}
	if got := find("kowalska anna nowak"); len(got) != 1 {
		t.Errorf("search email and new name = %v", got)
	}
	if _, err := db.SQL().ExecContext(t.Context(), "UPDATE users SET last_name = 'Zielińska' WHERE id = $1", u.ID); err != nil {
		t.Fatal(err)
	}
	if got := find("nowak"); len(got) != 0 {
		t.Errorf("search replaced name = %v, want none", got)
	}
	if got := find("zieli"); len(got) != 1 {
		t.Errorf("search name set by SQL = %v", got)
	}
	if _, err := db.SQL().ExecContext(t.Context(), "UPDATE users SET permissions = 3, last_login_at = $2 WHERE id = $1", u.ID, t0); err != nil {
		t.Fatal(err)
	}
	if got := find("zieli"); len(got) != 1 {
		t.Errorf("search after another column changed = %v", got)
	}
	if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error { return tx.DeleteUser(ctx, org.ID, u.ID) }); err != nil {
		t.Fatal(err)
	}
	if got := find("zieli"); len(got) != 0 {
		t.Errorf("search deleted user = %v", got)
	}
	if got := find("garc"); len(got) != 1 {
		t.Errorf("search the other user = %v", got)
	}
}

// testListCountNotFromEstimate: a search that the planner's statistics
// take for a common one (PostgreSQL plans a walk without counting from
// them) still gets its exact count when the walk finds fewer than the cap:
// "zq" words are half of all users, but all in the other organization.
func testListCountNotFromEstimate(t *testing.T, db *store.DB) {
	acme, other := MakeOrg(t, db, "acme"), MakeOrg(t, db, "other")
	var mine, theirs []person
	for i := range 60 {
		mine = append(mine, person{email: fmt.Sprintf("a%02d@acme.example", i), first: "Ann", last: "Lee"})
		theirs = append(theirs, person{email: fmt.Sprintf("zq%02d@other.example", i), first: "Zqa", last: "Zqb"})
	}
	mine = append(mine, person{email: "zqx@acme.example", first: "Zqa", last: "Zqc"})
	makePeople(t, db, acme, mine)
	makePeople(t, db, other, theirs)
	db.Optimize(t.Context())
	db.SetMaxExactTotal(2)
	defer db.SetMaxExactTotal(0)
	for _, f := range []roster.UserFilter{{Query: "zqa"}, {Query: "zqa", Status: roster.StatusNotLoggedIn}, {Query: "zqb"}} {
		page, err := db.ListUsers(t.Context(), acme.ID, f, listToday)
		if err != nil {
			t.Fatal(err)
		}
		want := 1
		if f.Query == "zqb" {
			want = 0
		}
		if len(page.Users) != want || page.Total != want || !page.TotalExact {
			t.Errorf("%+v: %d users, total %d exact %v; want %d, exact", f, len(page.Users), page.Total, page.TotalExact, want)
		}
	}
}

// testListCursorKeepsCount: the pages after a first one that counted past
// the exact limit carry its count in the cursor and do not count again;
// the same cursor with another filter counts anew.
func testListCursorKeepsCount(t *testing.T, db *store.DB) {
	acme := MakeOrg(t, db, "acme")
	var people []person
	for i := range 12 {
		people = append(people, person{email: fmt.Sprintf("p%02d@acme.example", i), first: "Ann", last: "Lee"})
	}
	people = append(people, person{email: "zed@acme.example", first: "Zed", last: "Lee"})
	makePeople(t, db, acme, people)
	db.SetMaxExactTotal(4)
	defer db.SetMaxExactTotal(0)
	ctx := t.Context()
	for _, f := range []roster.UserFilter{{Limit: 3}, {Query: "lee", Limit: 3}, {Query: "ann", Status: roster.StatusNotLoggedIn, Limit: 3}} {
		first, err := db.ListUsers(ctx, acme.ID, f, listToday)
		if err != nil {
			t.Fatal(err)
		}
		if first.Total != 4 || first.TotalExact || first.NextCursor == "" {
			t.Fatalf("%+v: first page total %d exact %v cursor %q; want 4, not exact, a cursor", f, first.Total, first.TotalExact, first.NextCursor)
		}
		next := f
		next.Cursor = first.NextCursor
		ectx, e := store.WithExplain(ctx)
		page, err := db.ListUsers(ectx, acme.ID, next, listToday)
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 4 || page.TotalExact || len(page.Users) != 3 {
			t.Errorf("%+v: second page %d users, total %d exact %v; want 3, 4, not exact", f, len(page.Users), page.Total, page.TotalExact)
		}
		if plans := e.String(); strings.Contains(plans, "COUNT(") || strings.Contains(plans, "users_fts") {
			t.Errorf("%+v: the second page counted again:\n%s", f, plans)
		}
		// Another filter with the same cursor: counted, 1 match ("zed")
		// after the cursor's position or none.
		other := f
		other.Query, other.Status, other.Cursor = "zed", "", first.NextCursor
		page, err = db.ListUsers(ctx, acme.ID, other, listToday)
		if err != nil {
			t.Fatal(err)
		}
		if !page.TotalExact || page.Total != 1 {
			t.Errorf("%+v: total %d exact %v with another filter's cursor; want 1, exact", other, page.Total, page.TotalExact)
		}
	}
}
