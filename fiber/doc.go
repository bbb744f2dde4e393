// Package entrafiber adapts entraguard to fiber. See issue: adapters.
package entrafiber
