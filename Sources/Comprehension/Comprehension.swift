// Comprehension: placeholder until the module lands.
