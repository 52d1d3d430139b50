# What `cmake --install` puts in place, and the Debian package `make package` builds (CPack DEB).
#
# Component `library` (the default install): the Socket.IO library, i.e. the layers net, engineio
# and socketio (with the codecs they are built from), its headers under
# include/herald/, a CMake package (find_package(Herald) -> Herald::socketio) and herald.pc.
# Component `server` (only asked for by name, as CPack does): /usr/bin/herald, /usr/bin/herald-bench,
# /etc/herald/herald.toml, the systemd unit, the operator's documentation and the Grafana dashboard. Its paths under /etc and /lib are absolute, so it
# is left out of a plain `cmake --install --prefix P`.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(HERALD_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Herald)

install(TARGETS herald_codec herald_core EXPORT HeraldTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT library
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/herald)
# The library's layers only: the server's headers (push, cluster, api, app...) stay private.
foreach(layer codec net engineio socketio)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/src/${layer} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/herald
          COMPONENT library FILES_MATCHING PATTERN "*.hpp")
endforeach()
install(EXPORT HeraldTargets NAMESPACE Herald:: DESTINATION ${HERALD_CMAKE_DIR} COMPONENT library)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/HeraldConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/HeraldConfig.cmake INSTALL_DESTINATION ${HERALD_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/HeraldConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/HeraldConfig.cmake ${CMAKE_BINARY_DIR}/HeraldConfigVersion.cmake
        DESTINATION ${HERALD_CMAKE_DIR} COMPONENT library)
# pkg-config: paths relative to the .pc file, so the installed tree can move.
string(REGEX REPLACE "[^/]+" ".." HERALD_PC_TO_PREFIX "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
configure_file(${CMAKE_CURRENT_LIST_DIR}/herald.pc.in ${CMAKE_BINARY_DIR}/herald.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/herald.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT library)

# The server. herald.toml is written by the herald just built (--print-config), from the settings
# table, so the file shipped can never differ from the settings the binary knows.
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/herald.toml
                   COMMAND herald --print-config > ${CMAKE_BINARY_DIR}/herald.toml
                   DEPENDS herald VERBATIM)
add_custom_target(herald_toml ALL DEPENDS ${CMAKE_BINARY_DIR}/herald.toml)
install(TARGETS herald herald-bench RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT server EXCLUDE_FROM_ALL)
install(FILES ${CMAKE_BINARY_DIR}/herald.toml DESTINATION /etc/herald COMPONENT server EXCLUDE_FROM_ALL)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/herald.service DESTINATION /lib/systemd/system COMPONENT server
        EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/operations.md ${PROJECT_SOURCE_DIR}/docs/security.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT server EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_SOURCE_DIR}/contrib/grafana/herald.json DESTINATION ${CMAKE_INSTALL_DATADIR}/herald/grafana
        COMPONENT server EXCLUDE_FROM_ALL)
# The Admin UI's page, from the @socket.io/admin-ui package that `npm ci` installs (`make package`
# runs it first); herald finds it beside /usr/bin as /usr/share/herald/admin-ui. No source maps.
install(DIRECTORY ${HERALD_ADMIN_UI_BUILD_DIR}/ DESTINATION ${CMAKE_INSTALL_DATADIR}/herald/admin-ui
        COMPONENT server EXCLUDE_FROM_ALL PATTERN "*.map" EXCLUDE)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME herald)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Herald maintainers <herald@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Real-time push server speaking Socket.IO, with an HTTP push API and Redis clustering")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL server)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # dpkg-shlibdeps: the run-time libraries herald links
set(CPACK_DEBIAN_PACKAGE_SUGGESTS redis-server)
set(CPACK_STRIP_FILES ON)  # the debugging symbols stay in the build directory
# The configuration is the operator's: dpkg keeps their edits on upgrade. The scripts tell systemd
# of the unit and stop the service on removal.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_CURRENT_LIST_DIR}/conffiles ${CMAKE_CURRENT_LIST_DIR}/postinst
                                       ${CMAKE_CURRENT_LIST_DIR}/prerm ${CMAKE_CURRENT_LIST_DIR}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_OUTPUT_FILE_PREFIX ${CMAKE_BINARY_DIR}/package)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/cpack)
include(CPack)
