# The WSGI app of the kill -9 anchor (bench/run.sh, io.forksafe.bench.AnchorBench): the same shape as the JVM demo
# apps' hello handler, answering with the pid of the worker that served the request.
import os


def app(environ, start_response):
    body = ("hello from pid %d\n" % os.getpid()).encode("ascii")
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
