// Registry: placeholder until its module lands.
