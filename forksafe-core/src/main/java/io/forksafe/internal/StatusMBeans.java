package io.forksafe.internal;

import io.forksafe.spi.HostContext;
import io.forksafe.ForkRegistry;

import java.lang.management.ManagementFactory;
import javax.management.Attribute;
import javax.management.AttributeList;
import javax.management.AttributeNotFoundException;
import javax.management.DynamicMBean;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanInfo;
import javax.management.MBeanOperationInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * The read-only status MBean. It is a {@link DynamicMBean}, so it needs no exported interface and works from an
 * unexported package under JPMS. {@code java.management} is optional: without it, registration is skipped.
 */
public final class StatusMBeans {

    private StatusMBeans() {
    }

    /** Registers the MBean for {@code registry} if absent; returns its object name, or null if JMX is unavailable. */
    public static String register(ForkRegistry registry, boolean global) {
        try {
            return Jmx.register(registry, global);
        } catch (LinkageError noJmx) {
            HostContext.of(registry).note("jmx", "not available: the java.management module is not present");
            return null;
        }
    }

    private static final class Jmx {
        static String register(ForkRegistry registry, boolean global) {
            try {
                String name = global ? "io.forksafe:type=Status"
                        : "io.forksafe:type=Status,name=" + ObjectName.quote(registry.name() + "@"
                        + Integer.toHexString(System.identityHashCode(registry)));
                ObjectName objectName = new ObjectName(name);
                MBeanServer server = ManagementFactory.getPlatformMBeanServer();
                if (!server.isRegistered(objectName)) {
                    server.registerMBean(new StatusMBean(registry), objectName);
                }
                return name;
            } catch (javax.management.InstanceAlreadyExistsException race) {
                return null;
            } catch (Exception e) {
                HostContext.of(registry).note("jmx", "status MBean not registered: " + e);
                return null;
            }
        }
    }

    /** Attributes: Status, Environment, Pid, AutoconfigureLog, Json, Text, HookFailures. */
    static final class StatusMBean implements DynamicMBean {
        private final ForkRegistry registry;

        StatusMBean(ForkRegistry registry) {
            this.registry = registry;
        }

        @Override
        public Object getAttribute(String attribute) throws AttributeNotFoundException {
            var s = registry.status();
            return switch (attribute) {
                case "Status" -> s.status();
                case "Environment" -> s.environment();
                case "Pid" -> s.pid();
                case "AutoconfigureLog" -> s.autoconfigureLog().toArray(new String[0]);
                case "Json" -> s.toJson();
                case "Text" -> s.dump();
                case "HookFailures" -> s.totalFailures();
                case "LiveWorkers" -> s.workers().size();
                default -> throw new AttributeNotFoundException("no attribute " + attribute
                        + "; the forksafe status MBean has Status, Environment, Pid, AutoconfigureLog, Json, Text, "
                        + "HookFailures and LiveWorkers");
            };
        }

        @Override
        public void setAttribute(Attribute attribute) {
            throw new UnsupportedOperationException("the forksafe status MBean is read-only");
        }

        @Override
        public AttributeList getAttributes(String[] attributes) {
            AttributeList list = new AttributeList();
            for (String a : attributes) {
                try {
                    list.add(new Attribute(a, getAttribute(a)));
                } catch (AttributeNotFoundException ignored) {
                    // JMX contract: unknown attributes are left out of the list
                }
            }
            return list;
        }

        @Override
        public AttributeList setAttributes(AttributeList attributes) {
            return new AttributeList();
        }

        @Override
        public Object invoke(String actionName, Object[] params, String[] signature) {
            throw new UnsupportedOperationException("the forksafe status MBean has no operations");
        }

        @Override
        public MBeanInfo getMBeanInfo() {
            MBeanAttributeInfo[] attrs = {
                attr("Status", String.class, "status line"),
                attr("Environment", String.class, "configured host"),
                attr("Pid", Long.class, "this process's pid"),
                attr("AutoconfigureLog", String[].class, "autoconfigure log lines"),
                attr("Json", String.class, "the status as JSON"),
                attr("Text", String.class, "the status as a text dump"),
                attr("HookFailures", Long.class, "total hook failures"),
                attr("LiveWorkers", Integer.class, "live workers known to this process"),
            };
            return new MBeanInfo(StatusMBean.class.getName(), "forksafe debug status (read-only)", attrs, null,
                    new MBeanOperationInfo[0], null);
        }

        private static MBeanAttributeInfo attr(String name, Class<?> type, String description) {
            return new MBeanAttributeInfo(name, type.getName(), description, true, false, false);
        }
    }
}
