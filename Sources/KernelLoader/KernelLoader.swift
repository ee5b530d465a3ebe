// KernelLoader: placeholder until its module lands.
