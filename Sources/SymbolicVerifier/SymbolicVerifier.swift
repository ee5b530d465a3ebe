// SymbolicVerifier: placeholder until its module lands.
