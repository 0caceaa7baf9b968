/**
 * forksafe servlet: the forksafe status served by a Jakarta Servlet 6 servlet
 * ({@code io.forksafe.servlet.ForksafeStatusServlet}).
 */
module io.forksafe.servlet {
    requires transitive io.forksafe.core;
    requires static jakarta.servlet;

    exports io.forksafe.servlet;
}
