// KernelInfo: placeholder until its module lands.
