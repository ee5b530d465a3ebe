// ExampleStore: placeholder until its module lands.
