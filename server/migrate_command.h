// `analysis-server migrate …`: the operator's commands over the migrator
// (server/store/pg/migrate/migrator.h). Prints to stdout, errors to stderr.
#ifndef GOODBUY_SERVER_MIGRATE_COMMAND_H_
#define GOODBUY_SERVER_MIGRATE_COMMAND_H_

#include <string>
#include <vector>

namespace goodbuy::server {

// `args` are the positional arguments after "migrate". Returns the exit
// code: 0 done, 1 failed (nothing half-done is left: see the message), 2 bad
// usage (unknown command, phase or level).
int RunMigrateCommand(const std::vector<std::string>& args,
                      const std::string& database_url,
                      const std::string& sql_dir);

// "postgresql://user:secret@host/db?x" -> "host/db": never print credentials.
std::string DescribeUrl(const std::string& url);

}  // namespace goodbuy::server

#endif  // GOODBUY_SERVER_MIGRATE_COMMAND_H_
