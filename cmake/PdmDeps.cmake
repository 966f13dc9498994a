# Finds every external library through pkg-config (or find_library where a
# Debian package ships no .pc file) and fails at configure time naming the
# Debian package to install. Each dependency becomes an imported target pdm::NAME.
find_package(PkgConfig REQUIRED)

function(pdm_require_pkg target pcname debian_pkg)
  pkg_check_modules(PDM_DEP_${target} QUIET IMPORTED_TARGET GLOBAL ${pcname})
  if(NOT PDM_DEP_${target}_FOUND)
    message(FATAL_ERROR "pdm: ${pcname} not found: install the Debian package '${debian_pkg}' "
                        "(scripts/install-deps.sh does it: apt-get install ${debian_pkg})")
  endif()
  add_library(pdm::${target} ALIAS PkgConfig::PDM_DEP_${target})
endfunction()

pdm_require_pkg(rdkafka rdkafka librdkafka-dev)
pdm_require_pkg(avro avro-c libavro-dev)
pdm_require_pkg(hiredis hiredis libhiredis-dev)
pdm_require_pkg(microhttpd libmicrohttpd libmicrohttpd-dev)
# HTTPS in http/: libmicrohttpd does the TLS, our certificate callback (http/tls.c)
# calls GnuTLS directly.
pdm_require_pkg(gnutls gnutls libgnutls28-dev)
pdm_require_pkg(cjson libcjson libcjson-dev)
pdm_require_pkg(cmocka cmocka libcmocka-dev)
pdm_require_pkg(xgboost xgboost libxgboost-dev)
pdm_require_pkg(nettle nettle nettle-dev)
pdm_require_pkg(yaml yaml-0.1 libyaml-dev)

find_path(PDM_RDKAFKA_MOCK_H librdkafka/rdkafka_mock.h)
if(NOT PDM_RDKAFKA_MOCK_H)
  message(FATAL_ERROR "pdm: librdkafka/rdkafka_mock.h not found: install the Debian package 'librdkafka-dev'")
endif()

find_package(Threads REQUIRED)
find_library(PDM_LIBM m)
