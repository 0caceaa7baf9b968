package io.forksafe;

/**
 * The six event types, in the order a worker's life passes through them.
 */
public enum EventType {
    PRE_FORK(PreFork.class),
    POST_FORK(PostFork.class),
    POST_FORK_PARENT(PostForkParent.class),
    POST_WORKER_INIT(PostWorkerInit.class),
    WORKER_EXIT(WorkerExit.class),
    CHILD_EXIT(ChildExit.class);

    private final Class<? extends ForkEvent> eventClass;

    EventType(Class<? extends ForkEvent> eventClass) {
        this.eventClass = eventClass;
    }

    /** The record class of this event type. */
    public Class<? extends ForkEvent> eventClass() {
        return eventClass;
    }

    /** The simple class name, as shown in the status: {@code "PostFork"}. */
    public String displayName() {
        return eventClass.getSimpleName();
    }

    /** {@code true} for {@link PreFork}: its subscribers run in reverse order, as {@code pthread_atfork}'s do. */
    public boolean runsInReverse() {
        return this == PRE_FORK;
    }
}
