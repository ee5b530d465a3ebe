// LLM: placeholder until its module lands.
