package kvm

import "context"

// PredictNames reads the persistent definition of the named domain (with the
// PCI addresses libvirt assigned when it was defined) and predicts its NIC
// names and disk links; see the package-level PredictNames. An unknown
// domain gives an error matching ErrNotFound.
func (c *Client) PredictNames(ctx context.Context, domain string, opts ...NamingOption) (*Prediction, error) {
	dom, err := c.DomainXML(ctx, domain)
	if err != nil {
		return nil, err
	}
	return PredictNames(dom, opts...)
}
