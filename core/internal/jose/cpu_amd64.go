//go:build amd64 && !purego

package jose

// supportADX reports whether the CPU has ADX and BMI2 (ADCX, ADOX, MULX):
// addMulVVW2048 (bigmod_amd64.s) reads it to choose between its two
// carry-chain path and its plain one. It is set once, here, by CPUID
// rather than by golang.org/x/sys/cpu as in bigmod, which the core does
// not import; tests set it to false to run the plain path.
var supportADX = hasADXAndBMI2()

// cpuid executes CPUID with EAX = eaxArg and ECX = ecxArg (cpu_amd64.s).
func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

// hasADXAndBMI2 reads CPUID leaf 7, subleaf 0 (EBX bit 8 BMI2, bit 19
// ADX), when the highest basic leaf (leaf 0, EAX) is at least 7.
func hasADXAndBMI2() bool {
	if maxLeaf, _, _, _ := cpuid(0, 0); maxLeaf < 7 {
		return false
	}
	_, ebx, _, _ := cpuid(7, 0)
	const bmi2, adx = 1 << 8, 1 << 19
	return ebx&bmi2 != 0 && ebx&adx != 0
}
