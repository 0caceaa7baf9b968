package io.forksafe.crac.testcrac;

import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;

/** Mirrors {@code jdk.crac.Core}: one global context; {@link #checkpointRestore()} notifies as the JDK does. */
public final class Core {

    private static final GlobalContext GLOBAL = new GlobalContext();

    /** Set by tests: the "checkpoint" itself fails after every beforeCheckpoint succeeded (e.g. an open socket). */
    public static volatile boolean failCheckpointAfterNotification;

    private Core() {
    }

    public static Context<Resource> getGlobalContext() {
        return GLOBAL;
    }

    public static void checkpointRestore() throws CheckpointException, RestoreException {
        GLOBAL.checkpointRestore();
    }

    /** How many resources the context still holds (weakly). */
    public static int liveResources() {
        return GLOBAL.live().size();
    }

    static final class GlobalContext extends Context<Resource> {
        private final List<WeakReference<Resource>> resources = new ArrayList<>();

        @Override
        public synchronized void register(Resource resource) {
            resources.add(new WeakReference<>(resource));
        }

        synchronized List<Resource> live() {
            List<Resource> out = new ArrayList<>();
            resources.removeIf(r -> r.get() == null);
            for (WeakReference<Resource> r : resources) {
                Resource x = r.get();
                if (x != null) {
                    out.add(x);
                }
            }
            return out;
        }

        @Override
        public void beforeCheckpoint(Context<? extends Resource> context) {
            throw new UnsupportedOperationException("the global context is not a resource of another context");
        }

        @Override
        public void afterRestore(Context<? extends Resource> context) {
            throw new UnsupportedOperationException("the global context is not a resource of another context");
        }

        void checkpointRestore() throws CheckpointException, RestoreException {
            List<Resource> live = live();
            CheckpointException checkpointFailure = null;
            List<Resource> restoreQueue = new ArrayList<>();
            for (int i = live.size() - 1; i >= 0; i--) {
                Resource r = live.get(i);
                restoreQueue.add(0, r); // afterRestore runs even if beforeCheckpoint fails
                try {
                    r.beforeCheckpoint(this);
                } catch (Exception e) {
                    checkpointFailure = record(checkpointFailure, e);
                }
            }
            if (checkpointFailure == null && failCheckpointAfterNotification) {
                checkpointFailure = new CheckpointException();
                checkpointFailure.addSuppressed(new IllegalStateException("test: the checkpoint itself failed"));
            }
            RestoreException restoreFailure = null;
            for (Resource r : restoreQueue) {
                try {
                    r.afterRestore(this);
                } catch (Exception e) {
                    if (checkpointFailure != null) {
                        checkpointFailure = record(checkpointFailure, e);
                    } else {
                        if (restoreFailure == null) {
                            restoreFailure = new RestoreException();
                        }
                        flatten(restoreFailure, e);
                    }
                }
            }
            if (checkpointFailure != null) {
                throw checkpointFailure;
            }
            if (restoreFailure != null) {
                throw restoreFailure;
            }
        }

        private static CheckpointException record(CheckpointException into, Exception e) {
            CheckpointException f = into != null ? into : new CheckpointException();
            flatten(f, e);
            return f;
        }

        private static void flatten(Exception into, Exception e) {
            // Only this API's own exceptions are flattened, as in the JDK; org.crac's are other classes to it.
            boolean aggregate = e instanceof CheckpointException || e instanceof RestoreException;
            if (aggregate && e.getSuppressed().length > 0) {
                for (Throwable t : e.getSuppressed()) {
                    into.addSuppressed(t);
                }
            } else {
                into.addSuppressed(e);
            }
        }
    }
}
