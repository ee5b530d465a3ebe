#pragma once
#include <z3.h>
