// BpftraceSemantics: placeholder until its module lands.
