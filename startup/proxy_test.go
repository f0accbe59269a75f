package startup_test

import (
	"net/http"
	"testing"

	"github.com/sithseid/sithseid/startup"
)

// The environment every role gets carries the proxy: policy's proxy key
// over the invocation's HTTPS_PROXY, which applies without policy.
func TestEnvironmentCarriesTheProxy(t *testing.T) {
	for _, tt := range []struct{ policy, want string }{
		{`{"proxy": "http://policy.region.se:8080"}`, "http://policy.region.se:8080"},
		{`{"proxy": "direct"}`, ""},
		{`{}`, "http://env.region.se:3128"},
	} {
		t.Cleanup(startup.SetPolicyForTest(policyFile(t, tt.policy), ""))
		vars := map[string]string{"HOME": t.TempDir(), "HTTPS_PROXY": "http://env.region.se:3128"}
		s := startup.Start(startup.Env{Getenv: func(k string) string { return vars[k] }})
		env, err := s.Environment("DEMO", "https://idp.example.se")
		s.Close()
		if err != nil {
			t.Fatalf("%s: %v", tt.policy, err)
		}
		got := ""
		if env.Proxy != nil {
			req, _ := http.NewRequest(http.MethodGet, env.ServiceURL+"/x", nil)
			u, err := env.Proxy(req)
			if err != nil {
				t.Fatal(err)
			}
			if u != nil {
				got = u.String()
			}
		}
		if got != tt.want {
			t.Errorf("%s: proxy %q, want %q", tt.policy, got, tt.want)
		}
	}
}
