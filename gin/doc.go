// Package entragin adapts entraguard to gin. See issue: adapters.
package entragin
