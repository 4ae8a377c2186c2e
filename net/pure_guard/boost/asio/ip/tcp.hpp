// Pure protocol code (a target made with hf_pure_target in net/CMakeLists.txt) must not
// use sockets or an event loop: that belongs in the session code around it.
#error "pure protocol code includes boost/asio/ip/tcp.hpp: move the I/O into the session layer"
