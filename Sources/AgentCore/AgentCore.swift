// AgentCore: placeholder until its module lands.
