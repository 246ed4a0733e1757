package daemon

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/moderatorbot/moderator/core/config"
)

// errReplayOffline ends every refusal of replayCheck: what the daemon will
// not run for a caller, the operator can run with the daemon stopped.
var errReplayOffline = errors.New("a replay through the running daemon may change the policy and what its analyzers are configured with, not which programs run, their environment, or where the daemon's secrets go; stop the daemon to replay this config offline")

// replayCheck says why a config sent to the admin API's replay may not run
// in the daemon: the API's token lets a caller review and correct
// decisions, and must not also let it start any program with the daemon's
// environment, or have the daemon's secrets (the ${NAME}s its environment
// holds) sent to a URL or written into a report of the caller's choosing.
// So each analyzer must be one the daemon runs, with the same binary, pin
// and env; a config table may differ from the daemon's only if it reads
// nothing from the environment (an http analyzer pointed elsewhere would
// carry its token there), and the policy may read nothing from it.
func replayCheck(own, sent *config.Config) error {
	var problems []string
	for _, in := range sent.Analyzers {
		mine, ok := own.Instance(in.Name)
		switch {
		case !ok || mine.Kind != "analyzer":
			problems = append(problems, fmt.Sprintf("analyzer %q is not one the daemon runs", in.Name))
		case in.Path != mine.Path || in.SHA256 != mine.SHA256 || !slices.Equal(in.Env, mine.Env):
			problems = append(problems, fmt.Sprintf("analyzer %q: its plugin, sha256 or env differs from the daemon's", in.Name))
		case !reflect.DeepEqual(in.Config, mine.Config):
			if at := sent.ReadsEnvironment(fmt.Sprintf("analyzer[%d].config", in.Index)); len(at) > 0 {
				problems = append(problems, fmt.Sprintf("analyzer %q: its config differs from the daemon's and reads the daemon's environment at %s", in.Name, strings.Join(at, ", ")))
			}
		}
	}
	if at := sent.ReadsEnvironment("policy"); len(at) > 0 {
		problems = append(problems, "the policy reads the daemon's environment at "+strings.Join(at, ", "))
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %w", strings.Join(problems, "; "), errReplayOffline)
}
