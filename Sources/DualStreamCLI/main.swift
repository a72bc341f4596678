print("dualstream: not built yet")
