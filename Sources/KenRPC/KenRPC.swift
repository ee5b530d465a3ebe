import KenProto
