// Package guid recognises GUIDs, the form of Entra tenant, application and
// object IDs. It is shared by package entra and package entratest.
package guid

// Is reports whether s is a GUID in its 8-4-4-4-12 hexadecimal form, in
// either case.
func Is(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
