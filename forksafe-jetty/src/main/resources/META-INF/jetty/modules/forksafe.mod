# forksafe-jetty: see docs/forksafe-jetty.md (copy to ${jetty.base}/modules/ with etc/forksafe.xml)

[description]
Publishes forksafe events for Jetty's worker threads and server lifecycle:
PreFork, PostFork, PostForkParent and WorkerExit for each pool thread,
PostWorkerInit when the server started and WorkerExit when it stops.
Replaces the default thread pool with io.forksafe.jetty.ForksafeThreadPool,
which reads the same jetty.threadPool.* properties.

[tags]
forksafe
threadpool

[depends]
logging

[provides]
threadpool

[lib]
lib/forksafe/*.jar

[xml]
etc/forksafe.xml

[ini-template]
## forksafe: copy forksafe-core-<version>.jar and forksafe-jetty-<version>.jar to ${jetty.base}/lib/forksafe/

## Thread name prefix.
#jetty.threadPool.namePrefix=qtp<hashCode>

## Minimum number of pooled threads.
#jetty.threadPool.minThreads=10

## Maximum number of pooled threads.
#jetty.threadPool.maxThreads=200

## Number of reserved threads (-1 for heuristic).
#jetty.threadPool.reservedThreads=-1

## Thread idle timeout (in milliseconds); idle threads that end publish WorkerExit.
#jetty.threadPool.idleTimeout=60000

## Whether to output a detailed dump.
#jetty.threadPool.detailedDump=false
