// Package entraecho adapts entraguard to echo. See issue: adapters.
package entraecho
