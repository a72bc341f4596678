print("dualstream-bench: not built yet")
