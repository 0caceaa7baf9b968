# Test launcher that plays the arbiter: binds a listening socket on 127.0.0.1, prints "port N",
# makes the socket fd 0 and execs the worker command (so System.inheritedChannel() is that socket).
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(128)
print("port %d" % s.getsockname()[1], flush=True)
os.dup2(s.fileno(), 0)
s.close()
os.execvp(sys.argv[1], sys.argv[1:])
