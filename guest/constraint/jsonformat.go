package constraint

// Formats the matcher enforces, as regular expressions over the whole decoded string. Each is a subset
// of what its RFC allows, kept simple enough that any validator's checker accepts every match (no leap
// seconds, no percent-encoding in URIs, no IPv4-in-IPv6 forms, hostnames of at most 6 labels of at most
// 40 characters, e-mail addresses with plain local parts). Other formats are annotations and ignored.

import "strings"

const (
	fmtLeapYear = `(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)`
	fmtDate     = `(?:[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))|` + fmtLeapYear + `-02-29)`
	fmtTime     = `(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])`
	fmtLabel    = `[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}[A-Za-z0-9])?`
	fmtHost     = fmtLabel + `(?:\.` + fmtLabel + `){0,5}`
	fmtOctet    = `(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])`
	fmtIPv4     = fmtOctet + `(?:\.` + fmtOctet + `){3}`
	fmtHex4     = `[0-9a-fA-F]{1,4}`
	fmtURIChars = `[A-Za-z0-9._~!$&'()*+,;=:@-]`
)

// fmtIPv6 lists the forms of RFC 4291 section 2.2 without an embedded IPv4 address: full, or with one
// "::" standing for the groups left out.
var fmtIPv6 = strings.NewReplacer("h", fmtHex4).Replace(`(?:(?:h:){7}h|(?:h:){1,7}:|(?:h:){1,6}:h|(?:h:){1,5}(?::h){1,2}|` +
	`(?:h:){1,4}(?::h){1,3}|(?:h:){1,3}(?::h){1,4}|(?:h:){1,2}(?::h){1,5}|h:(?::h){1,6}|:(?:(?::h){1,7}|:))`)

// formats maps the enforced format names to their expressions.
var formats = map[string]string{
	"date":      fmtDate,
	"time":      fmtTime,
	"date-time": fmtDate + "T" + fmtTime,
	// RFC 3339 appendix A: a week, or date and/or time parts, largest unit first.
	"duration": `P(?:[0-9]+W|(?:[0-9]+D|[0-9]+M(?:[0-9]+D)?|[0-9]+Y(?:[0-9]+M(?:[0-9]+D)?)?)(?:T(?:[0-9]+H(?:[0-9]+M(?:[0-9]+S)?)?|[0-9]+M(?:[0-9]+S)?|[0-9]+S))?|T(?:[0-9]+H(?:[0-9]+M(?:[0-9]+S)?)?|[0-9]+M(?:[0-9]+S)?|[0-9]+S))`,
	"email":    `[A-Za-z0-9_+-]{1,40}(?:\.[A-Za-z0-9_+-]{1,20})?@` + fmtLabel + `(?:\.` + fmtLabel + `){1,4}`,
	"uuid":     `[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`,
	"uri":      `[a-z][a-z0-9+.-]*://` + fmtHost + `(?::[0-9]{1,5})?(?:/` + fmtURIChars + `*)*(?:\?(?:` + fmtURIChars + `|[/?])*)?(?:#(?:` + fmtURIChars + `|[/?])*)?`,
	"ipv4":     fmtIPv4,
	"ipv6":     fmtIPv6,
	"hostname": fmtHost,
}
