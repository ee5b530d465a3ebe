// Contracts: placeholder until the module lands.
