/**
 * uWSGI's forked JVM workers: uWSGI's JVM plugin starts one JVM in each worker after the master forks, so every
 * worker JVM gets {@link io.forksafe.PostFork} (slot = uWSGI worker id, parent = the master),
 * {@link io.forksafe.PostWorkerInit} and {@link io.forksafe.WorkerExit}. The master runs no JVM, so
 * {@link io.forksafe.PreFork}, {@link io.forksafe.PostForkParent} and {@link io.forksafe.ChildExit} cannot run under
 * uWSGI.
 *
 * <pre>{@code
 * uwsgi --plugins jvm_openjdk17,jwsgi_openjdk17 --master --processes 2 \
 *       --http-socket 127.0.0.1:8080 --http-socket-modifier1 8 \
 *       --jvm-classpath /usr/share/java/uwsgi.jar --jvm-classpath /opt/app/lib/forksafe-all.jar ... \
 *       --jvm-class io/forksafe/uwsgi/UwsgiBootstrap --jwsgi com/example/App:application
 * }</pre>
 */
package io.forksafe.uwsgi;
